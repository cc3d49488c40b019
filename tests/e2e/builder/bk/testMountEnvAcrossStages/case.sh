# go: dockerfile_mount_test.go testMountEnvAcrossStages
# ENV from the parent stage expands in --mount type= and id= of a child stage.
bk_df_raw <<'DF'
FROM @BASE@ as stage1
ENV MNT_ID=mycache
ENV MNT_TYPE2=cache
RUN --mount=type=cache,id=mycache,target=/abcabc touch /abcabc/foo
RUN --mount=type=$MNT_TYPE2,id=$MNT_ID,target=/cbacba [ -f /cbacba/foo ]
FROM stage1
RUN --mount=type=$MNT_TYPE2,id=$MNT_ID,target=/whatever [ -f /whatever/foo ]
DF
bk_ok "id=\$MNT_ID finds the cache in both stages"
