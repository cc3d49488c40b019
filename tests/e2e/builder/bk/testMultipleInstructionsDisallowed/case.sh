# go: dockerfile_check_test.go testMultipleInstructionsDisallowed
m() { echo "MultipleInstructionsDisallowed: Multiple $1 instructions should not be used in the same stage because only the last one will be used (line $2)"; }
bk_dfr <<'DF'

FROM scratch
ENTRYPOINT ["/first"]
ENTRYPOINT ["/second"]
CMD ["/first"]
CMD ["/second"]
HEALTHCHECK CMD ["/first"]
HEALTHCHECK CMD ["/second"]
DF
bk_lint "pairs" < <(m ENTRYPOINT 3; m CMD 5; m HEALTHCHECK 7)
bk_dfr <<'DF'

FROM scratch
ENTRYPOINT ["/first"]
CMD ["/first"]
HEALTHCHECK CMD ["/first"]
COPY <<EOF /greeting.txt
hello
EOF
ENTRYPOINT ["/second"]
CMD ["/second"]
HEALTHCHECK CMD ["/second"]
DF
bk_lint "apart" < <(m ENTRYPOINT 3; m CMD 4; m HEALTHCHECK 5)
bk_dfr <<'DF'

FROM scratch AS a
ENTRYPOINT ["/first"]
CMD ["/first"]
HEALTHCHECK CMD ["/first"]
FROM a AS b
ENTRYPOINT ["/second"]
CMD ["/second"]
HEALTHCHECK CMD ["/second"]
DF
bk_lint "in different stages" </dev/null
