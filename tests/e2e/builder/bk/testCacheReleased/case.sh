# go: dockerfile_cache_test.go testCacheReleased
# Two builds FROM an image hold nothing once done: no temporary left in the store's ingest
# folder, and `cbuild prune -a` leaves no build cache.
bk_df <<DF
FROM $BASE
DF
bk_ok "first build"
bk_ok "second build"
check_eq "nothing left in ingest/" "" "$(ls -A "$CBUILD_ROOT/ingest" 2>&1)"
"$CBUILD" prune -a -f >/dev/null 2>&1
check_eq "no build cache after prune -a" 0 "$("$CBUILD" du --format json | jq .CacheRecords)"
