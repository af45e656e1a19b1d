"""The embedded demo and the one place that talks to the emulators' control API."""
