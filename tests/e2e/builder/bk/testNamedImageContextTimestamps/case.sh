# go: dockerfile_namedcontext_test.go testNamedImageContextTimestamps
# An image built FROM a named docker-image context gets a creation time of its own: later than
# the base's, by less than 10 minutes.
bk_df <<DF
FROM $BASE
RUN echo foo >> /test
DF
bk_push "base image" "$CBUILD_REGISTRY/buildkit/testnamedimagecontexttimestamps:latest"
sleep 1.1
bk_df <<'DF'
FROM alpine
RUN echo foo >> /test
DF
bk_push "derived image" "$CBUILD_REGISTRY/buildkit/testnamedimagecontexttimestampsderived:latest" \
  --build-context "alpine=docker-image://$CBUILD_REGISTRY/buildkit/testnamedimagecontexttimestamps:latest"
created() { skopeo inspect --tls-verify=false --config --raw "docker://$CBUILD_REGISTRY/buildkit/$1:latest" | jq -r .created; }
c1=$(created testnamedimagecontexttimestamps) c2=$(created testnamedimagecontexttimestampsderived)
d=$(python3 - "$c1" "$c2" <<'PY'
import re, sys, datetime
def p(s):
    m = re.match(r'(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?Z$', s)
    t = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")
    return t.timestamp() + float(m.group(2) or 0)
print(p(sys.argv[2]) - p(sys.argv[1]))
PY
)
check "derived is later ($c1 -> $c2)" python3 -c "import sys; sys.exit(0 if 0 < $d < 600 else 1)"
