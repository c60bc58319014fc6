"""The full-screen Textual face of VectorTrainer: the App, shared widgets and styles.

Nothing here holds business logic; every action is one engine call made from a
worker thread. Heavy modules (vectorwave, torch) are imported lazily, never at
import time of this package.
"""
