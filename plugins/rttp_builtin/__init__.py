"""trio-rttp built-in plugins: ordinary pluggy plugins, registered through the ``rttp`` entry-point group."""
