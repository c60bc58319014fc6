"""VectorTrainer: the engine of a self-evolving loop for LLM-backed Python functions.

The engine reads VectorWave execution logs, selects golden data, turns feedback
into versioned hook scripts, guards the budget and fine-tunes. It never imports
a UI toolkit: the Textual app (`tui/`, `screens/`), `--batch` and the Streamlit
companion are faces over it. Heavy imports (vectorwave, torch) happen lazily.
"""

__version__ = "0.1.0"
