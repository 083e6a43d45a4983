"""mhdash core: the product's library (models, inference, storage, analytics).

Never imports streamlit; importing it does not import torch. Front ends
(the Streamlit app, the CLI ``python -m core``, the HTTP API) call into it.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
