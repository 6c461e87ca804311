"""Fine-tuned Chinese classifier for illegal-fundraising promotions.

A plain library: no database, queue or web imports. Entry points: ``classifier.inference.Classifier``,
``classifier.setup.ensure_model`` and the Typer app in ``classifier.cli``.
"""
