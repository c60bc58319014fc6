"""The name of the environment variable that carries a start's access token from `vectortrainer web`
to the app.

Kept apart from ``app.py`` so the command reads it without importing streamlit.
"""

ACCESS_TOKEN_ENV = "VECTORTRAINER_WEB_TOKEN"
