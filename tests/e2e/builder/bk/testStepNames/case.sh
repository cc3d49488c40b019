# go: dockerfile_core_test.go testStepNames
# Progress names steps as BuildKit: "[base 3/3] RUN …" (FROM is step 1), "[stage-1 1/1] COPY …".
bk_dfr <<'DF'
FROM @BASE@ AS base
WORKDIR /out
RUN echo "base" > base
FROM scratch
COPY --from=base --chmod=0644 /out /out
DF
bk_ok "build"
check "step [base 3/3] RUN echo \"base\" > base" grep -qE '^#[0-9]+ \[base 3/3\] RUN echo "base" > base$' "$T/last.log"
check "step [stage-1 1/1] COPY --from=base --chmod=0644 /out /out" grep -qE '^#[0-9]+ \[stage-1 1/1\] COPY --from=base --chmod=0644 /out /out$' "$T/last.log"
