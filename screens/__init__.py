"""One module per screen of the Textual app (dataset, feedback, rules, training, hooks, help,
modals)."""
