# go: dockerfile_core_test.go testLabels
# LABEL and --label both land in the config.
bk_dfr <<'DF'
FROM scratch
LABEL foo=bar
DF
bk_ok "build" --label bar=baz
labels=$(bk_config | python3 -c 'import json,sys; l=json.load(sys.stdin)["config"]["Labels"]; print(l.get("foo"), l.get("bar"))' 2>&1)
check_eq "foo=bar and bar=baz" "bar baz" "$labels"
