"""Domain objects to FHIR R4 resources (fhir.resources.R4B). Pure: reads attributes, no ORM."""
