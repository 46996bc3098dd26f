"""What the tests and the bench use to run the two programs on this machine: in no wheel,
neither the broker's nor the site's."""
