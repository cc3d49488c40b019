# go: dockerfile_rundevice_test.go testDeviceRunEnv
# A CDI spec (BuildKit's sandbox spec dir is $CBUILD_CDI_SPEC_DIRS here) whose device carries
# the autoallow annotation: RUN --device=…,required gets its containerEdits.env, an optional
# device nobody registered is skipped with BuildKit's warning. Beyond the Go test: a required
# device not registered, a device without the annotation (refused, then granted by
# `--allow device` and `--allow device=NAME`), edits a VM cannot take, the devices in the key.
export CBUILD_CDI_SPEC_DIRS=$W/no-such-dir:$W/cdi
mkdir -p "$W/cdi"
cat >"$W/cdi/vendor1-device.yaml" <<'YAML'
cdiVersion: "0.6.0"
kind: "vendor1.com/device"
devices:
- name: foo
  containerEdits:
    env:
    - FOO=injected
  annotations:
    org.mobyproject.buildkit.device.autoallow: true
YAML
bk_df_raw <<'DF'
FROM @BASE@ AS base
RUN --device=vendor1.com/device=foo,required \
    --device=vendor2.com/device=bar \
    env|sort | tee foo.env
FROM scratch
COPY --from=base /foo.env /
DF
bk_local_ok "autoallowed device, optional one missing"
check_contains "foo.env has FOO=injected" "FOO=injected" "$(cat "$W/out/foo.env" 2>&1)"
check_contains "the missing optional device is a warning" \
  'WARNING: Optional device "vendor2.com/device=bar" is not registered' "$(cat "$T/last.log")"
bk_local_ok "again: cached"
check_eq "  the RUN is cached" CACHED "$(step_state 'env|sort')"

# a changed spec changes what the RUN sees: it runs again
sed -i 's/FOO=injected/FOO=changed/' "$W/cdi/vendor1-device.yaml"
bk_local_ok "changed spec"
check_eq "  the RUN runs again" DONE "$(step_state 'env|sort')"
check_contains "  foo.env has FOO=changed" "FOO=changed" "$(cat "$W/out/foo.env" 2>&1)"

bk_df_raw <<'DF'
FROM @BASE@
RUN --device=vendor2.com/device=bar,required true
DF
bk_fails "a required device not registered" 'required device "vendor2.com/device=bar" is not registered'

# no autoallow annotation: the device entitlement decides
cat >"$W/cdi/vendor3.json" <<'JSON'
{"cdiVersion": "0.6.0", "kind": "vendor3.com/device",
 "devices": [{"name": "baz", "containerEdits": {"env": ["BAZ=granted"]}}]}
JSON
bk_df_raw <<'DF'
FROM @BASE@ AS base
RUN --device=vendor3.com/device=baz env | grep BAZ= > baz.env
FROM scratch
COPY --from=base /baz.env /
DF
bk_fails "not allowed without --allow device" "device vendor3.com/device=baz is requested by the build but not allowed"
bk_local_ok "--allow device" --allow device
bk_out_is baz.env 'BAZ=granted\n'
bk_local_ok "--allow device=vendor3.com/device=baz" --allow device=vendor3.com/device=baz
bk_out_is baz.env 'BAZ=granted\n'
bk_fails "--allow device=<another device>" "device vendor3.com/device=baz is requested by the build but not allowed" \
  --allow device=vendor1.com/device=foo
bk_fails "--allow device=NAME,bad=1" 'unknown device config key "bad"' --allow device=vendor3.com/device=baz,bad=1

# a VM gets none of the host's device nodes: said so, not skipped
cat >"$W/cdi/vendor4.yaml" <<'YAML'
cdiVersion: "0.6.0"
kind: vendor4.com/gpu
devices:
- name: "0"
  containerEdits:
    deviceNodes:
    - path: /dev/null
YAML
bk_df_raw <<'DF'
FROM @BASE@
RUN --device=vendor4.com/gpu=0 true
DF
bk_fails "deviceNodes" "containerEdits.deviceNodes cannot be applied: a RUN step runs in its own VM, which has none of the host's device nodes" --allow device

# a broken spec file is named with its line
printf 'cdiVersion: "0.6.0"\nkind: vendor5\ndevices:\n- name: x\n' >"$W/cdi/vendor5.yaml"
bk_fails "a bad spec" "CDI spec $W/cdi/vendor5.yaml:2: invalid kind \"vendor5\" (want vendor.com/class)" --allow device
rm "$W/cdi/vendor5.yaml"

bk_df_raw <<'DF'
FROM @BASE@
RUN --device= true
DF
bk_fails "--device= (empty)" "--device= names no device"
bk_df_raw <<'DF'
FROM @BASE@
RUN --device=vendor1.com/device=foo,requird=true true
DF
bk_fails "--device with an unknown key" "unexpected key 'requird' in 'requird=true' (did you mean required?)"
unset CBUILD_CDI_SPEC_DIRS
