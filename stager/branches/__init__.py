"""Phase branches: trees, commits, strategies, backups (``stager split``).

``split.split_branch`` builds them; ``refs.undo_last_split`` puts back what the
last run changed. See docs/split.md. Nothing is imported here: ``analyze``
reads only the record of the last split (``merged``), and must not pay for
the split's modules.
"""
