-- Each provider's name in its current directory version.
SELECT provider_id, name FROM dim_provider WHERE valid_to IS NULL ORDER BY provider_id
