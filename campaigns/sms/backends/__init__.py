"""SMS backends: console, file, locmem (tests) and http (a provider). See `campaigns.sms`."""
