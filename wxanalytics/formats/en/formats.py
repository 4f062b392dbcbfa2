# Django's en formats with the zone after the time (Nov. 29, 2026, 2:30 p.m. (China Standard Time)).
from wxanalytics.formats import literal, zone_name

TIME_FORMAT = "P " + literal(f"({zone_name('en')})")
DATETIME_FORMAT = "N j, Y, P " + literal(f"({zone_name('en')})")
SHORT_DATETIME_FORMAT = "m/d/Y P " + literal(f"({zone_name('en')})")
FIRST_DAY_OF_WEEK = 1
