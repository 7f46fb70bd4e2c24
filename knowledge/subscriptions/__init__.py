"""Following guidance and being told when it changes (issue 24); docs/notifications.md."""
