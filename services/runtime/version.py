"""The application's version, stored with every interview, graph snapshot and export."""

APP_VERSION = "0.1.0"
