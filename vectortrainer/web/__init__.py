"""The Streamlit companion (a face, FR-4.3): ``app.py`` is the script ``vectortrainer web`` starts.

It lays out what the application layer (:mod:`vectortrainer.workspace`) computes and is the
only module that imports streamlit.
"""
