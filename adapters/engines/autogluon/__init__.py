"""AutoGluon's TabularPredictor as an adapter (``adapter``), with the callback that keeps it to our deadline (``callback``)."""
