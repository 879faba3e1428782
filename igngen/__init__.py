"""igngen: Azure provisioning data (ovf-env.xml, IMDS) to Ignition configs, at early boot."""

__version__ = "0.1.0"
