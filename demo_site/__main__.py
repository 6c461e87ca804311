"""``python -m demo_site [--host H] [--port N]``: the same server as ``adscreen demo-site``, without the CLI."""

from __future__ import annotations

import argparse

from demo_site.server import serve

parser = argparse.ArgumentParser(prog="python -m demo_site", description=__doc__)
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, default=8765)
args = parser.parse_args()
print(f"demo site on http://{args.host}:{args.port}/")
serve(args.host, args.port)
