"""The Streamlit companion (a face, FR-4.3): ``app.py`` is the script ``vectortrainer web`` starts,
``data.py`` computes everything it shows. Only ``app.py`` imports streamlit."""
