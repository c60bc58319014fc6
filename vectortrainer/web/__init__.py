"""The Streamlit companion (a face, FR-4.3): ``app.py`` is the script ``vectortrainer web`` starts.

It lays out what engine modules compute (``runs.views``, ``golden.vector_map``,
``hooks.views``) and is the only module that imports streamlit.
"""
