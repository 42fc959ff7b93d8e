"""H2O AutoML as an adapter, on a private JVM bound to loopback (``server``)."""
