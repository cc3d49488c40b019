# go: dockerfile_history_test.go testExportedHistory
# History is scoped to the final stage: one entry per instruction after the base's, with
# BuildKit's created_by texts, empty_layer for metadata-only steps, and a created time each.
bk_df_raw <<'DF'
FROM @BASE@ AS base
ENV foo=bar
COPY foo /foo2
FROM @BASE@
LABEL lbl=val
COPY --from=base foo2 foo3
WORKDIR /
RUN echo bar > foo4
RUN ["ls"]
EXPOSE 2375 5000 1234/udp
DF
printf contents0 | bk_file foo 0600
bk_ok "build"
cfg=$(bk_config)
base=$(skopeo inspect --config --raw --tls-verify=false "docker://$BASE" 2>&1)
nh=$(jq '.history | length' <<<"$base") nl=$(jq '.rootfs.diff_ids | length' <<<"$base")
check_eq "rootfs type" layers "$(jq -r .rootfs.type <<<"$cfg")"
check_eq "diff_ids: the base's + 3" $((nl + 3)) "$(jq '.rootfs.diff_ids | length' <<<"$cfg")"
check_eq "history: the base's + 6" $((nh + 6)) "$(jq '.history | length' <<<"$cfg")"
i=$nh
for want in "LABEL lbl=val|true" "COPY foo2 foo3 # buildkit|false" "WORKDIR /|true" \
  "RUN /bin/sh -c echo bar > foo4 # buildkit|false" "RUN ls # buildkit|false" \
  "EXPOSE [1234/udp 2375/tcp 5000/tcp]|true"; do
  check_eq "history[$i]" "$want|true" \
    "$(jq -r ".history[$i] | \"\(.created_by)|\(.empty_layer // false)|\(.created != null)\"" <<<"$cfg")"
  i=$((i + 1))
done
