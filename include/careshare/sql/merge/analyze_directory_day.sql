-- Work tables are emptied after every merge, so their planner statistics are only right if taken
-- now that they are full (a plan made for an empty table turns a national day into minutes).
ANALYZE merge_directory_day
