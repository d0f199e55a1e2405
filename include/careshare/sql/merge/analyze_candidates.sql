-- See analyze_directory_day: the same holds for the ranked candidates.
ANALYZE merge_candidate
