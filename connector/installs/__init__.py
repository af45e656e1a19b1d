"""Installing the product: OAuth installs, vendor app specs, field provisioning, token vault, users and keys."""
