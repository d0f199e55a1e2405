SELECT MAX(as_of) AS as_of FROM directory_load
