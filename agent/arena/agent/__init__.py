"""The Arena agent: runs engines and load generators on one machine, reports to the controller."""
