"""Jobs every face of the tracker runs the same way: collection, detection, the hourly cron."""
