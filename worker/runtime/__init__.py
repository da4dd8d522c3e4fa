"""The worker's own Lambda runtime: a Runtime API loop that streams HTTP integration responses.

Python's managed Lambda runtime cannot stream responses, so ``python -m worker.runtime`` (started by the
``exec-wrapper`` script through ``AWS_LAMBDA_EXEC_WRAPPER``) owns the Runtime API instead. See docs/runtime.md.
"""

from __future__ import annotations
