"""Canonical column names, in one place.

Files arrive with English or Chinese headers; ``geogrid.io.columns`` maps them onto
these names.  Everything downstream (partition, database, API) uses only these.
"""

# --- households -----------------------------------------------------------------
HOUSEHOLD_ID = "household_id"  # stable internal id (uuid hex)
HOUSEHOLD_NO = "household_no"  # external household number (户编号)
HEAD_NAME = "head_name"  # 户主
ADDRESS = "address"
LON = "lon"
LAT = "lat"
VILLAGE_CODE = "village_code"
BUILDING = "building"  # building key: households sharing one building stay together
HAMLET = "hamlet"  # natural hamlet (团寨)
CARE_LEVEL = "care_level"  # green / yellow / red (放心户/关心户/连心户)
SOURCE_CRS = "source_crs"  # the coordinate system the point arrived in

CARE_LEVELS = ("green", "yellow", "red")

# --- persons --------------------------------------------------------------------
PERSON_ID = "person_id"
NAME = "name"
GENDER = "gender"  # "M" / "F"
BIRTH_DATE = "birth_date"
ID_NUMBER = "id_number"  # 18-character GB 11643 resident ID, always text
PHONE = "phone"
RELATION = "relation"  # relation to household head (与户主关系)
PARTY_MEMBER = "party_member"
TAGS = "tags"  # ";"-separated: elderly_alone, disabled, left_behind_child, away_for_work

PERSON_TAGS = ("elderly_alone", "disabled", "left_behind_child", "away_for_work")
GENDERS = ("M", "F")

# --- administrative areas ---------------------------------------------------------
CODE = "code"
PARENT_CODE = "parent_code"
LEVEL = "level"  # county / town / village
VINTAGE = "vintage"  # year of the code table
TOWN_CODE = "town_code"

AREA_LEVELS = ("county", "town", "village")

# --- partition ----------------------------------------------------------------------
MICROGRID_ID = "microgrid_id"
CELL_ID = "cell_id"
HOUSEHOLDS = "households"
AREA_KM2 = "area_km2"

GEOMETRY = "geometry"
