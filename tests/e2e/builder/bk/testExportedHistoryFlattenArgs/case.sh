# go: dockerfile_history_test.go testExportedHistoryFlattenArgs
# A re-declared ARG appears once in RUN's history, in first-declaration order, latest value.
bk_df_raw <<'DF'
FROM @BASE@
ARG foo=bar
ARG bar=123
ARG foo=bar2
RUN ls /etc/
DF
bk_push "build and push" "$CBUILD_REGISTRY/buildkit/testargduplicate:latest"
cfg=$(skopeo inspect --config --raw --tls-verify=false "docker://$CBUILD_REGISTRY/buildkit/testargduplicate:latest" 2>&1)
first=$(jq '[.history[].created_by] | index("ARG foo=bar")' <<<"$cfg")
check "ARG foo=bar is after the base's history" test "${first:-null}" != null -a "${first:-0}" -gt 0
check_eq "entries after it" 4 "$(jq ".history | length - $first" <<<"$cfg" 2>&1)"
check_eq "ARG bar=123" "ARG bar=123" "$(jq -r ".history[$first + 1].created_by" <<<"$cfg" 2>&1)"
check_eq "ARG foo=bar2" "ARG foo=bar2" "$(jq -r ".history[$first + 2].created_by" <<<"$cfg" 2>&1)"
check_eq "RUN line" "RUN |2 foo=bar2 bar=123 /bin/sh -c ls /etc/ # buildkit" \
  "$(jq -r ".history[$first + 3].created_by" <<<"$cfg" 2>&1)"
