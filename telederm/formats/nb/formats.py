DATE_FORMAT = "j. F Y"
DATETIME_FORMAT = r"j. F Y \k\l. H:i"
SHORT_DATE_FORMAT = "j. b Y"
SHORT_DATETIME_FORMAT = r"j. b Y \k\l. H:i"
