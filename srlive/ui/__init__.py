"""What the performer sees on the terminal: the live view (``view``) and the status line (``status``)."""
