"""Canonical column names, in one place.

Files arrive with English or Chinese headers; ``geogrid.io.headers`` maps them onto
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
#: a stored plan's household: its point (EPSG:4326) when it was assigned to its cell
ASSIGNED_LON = "assigned_lon"
ASSIGNED_LAT = "assigned_lat"

GEOMETRY = "geometry"

# --- the Chinese headers registers use ------------------------------------------------
#: The preferred Chinese header for each canonical column.  ``geogrid sample`` writes
#: these; ``geogrid.io`` recognises them (and many more synonyms) on import, and
#: ``geogrid export --zh`` writes them back.
ZH_HEADERS = {
    HOUSEHOLD_NO: "户编号",
    HEAD_NAME: "户主",
    ADDRESS: "地址",
    LON: "经度",
    LAT: "纬度",
    VILLAGE_CODE: "村代码",
    BUILDING: "楼栋编号",
    HAMLET: "自然寨",
    CARE_LEVEL: "户类别",
    SOURCE_CRS: "坐标系",
    NAME: "姓名",
    ID_NUMBER: "身份证号",
    GENDER: "性别",
    BIRTH_DATE: "出生日期",
    PHONE: "联系电话",
    RELATION: "与户主关系",
    PARTY_MEMBER: "是否党员",
    TAGS: "人员标签",
    CODE: "区划代码",
    PARENT_CODE: "上级代码",
    LEVEL: "级别",
    VINTAGE: "年份",
}

#: Chinese values of coded columns, canonical value -> the word registers use.
ZH_CARE_LEVELS = {"green": "放心户", "yellow": "关心户", "red": "连心户"}
ZH_GENDERS = {"M": "男", "F": "女"}
ZH_PERSON_TAGS = {
    "elderly_alone": "独居老人",
    "disabled": "残疾人",
    "left_behind_child": "留守儿童",
    "away_for_work": "外出务工",
}
ZH_AREA_LEVELS = {"county": "县", "town": "乡镇", "village": "村"}
