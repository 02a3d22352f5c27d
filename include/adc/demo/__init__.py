"""The Department for Civic Registration: the demo estate, its register and RoPA, and the demo runner."""
