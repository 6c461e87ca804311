"""HTTP responses both adapters send the same way (the referral package download)."""

from __future__ import annotations

from fastapi.responses import Response

from review.services.referral import Package


def package_response(package: Package) -> Response:
    """The referral zip as an attachment, with its SHA-256 in a header (the audit log records the same)."""
    return Response(
        package.data,
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{package.filename}"',
            "X-Package-SHA256": package.sha256,
        },
    )
