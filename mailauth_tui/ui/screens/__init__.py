"""The console's screens, one per file: the domain table, help and the step modals."""
