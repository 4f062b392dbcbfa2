# Django's zh_Hans formats (2026年11月29日 14:30) with the zone after the time.
from wxanalytics.formats import literal, zone_name

DATE_FORMAT = "Y年n月j日"
TIME_FORMAT = "H:i " + literal(f"({zone_name('zh-hans')})")
DATETIME_FORMAT = "Y年n月j日 H:i " + literal(f"({zone_name('zh-hans')})")
SHORT_DATE_FORMAT = "Y年n月j日"
SHORT_DATETIME_FORMAT = DATETIME_FORMAT
YEAR_MONTH_FORMAT = "Y年n月"
MONTH_DAY_FORMAT = "n月j日"
FIRST_DAY_OF_WEEK = 1
