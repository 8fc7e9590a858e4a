#!/usr/bin/env bash
# Four cameras in one process: one shared engine (model-instance-id), their
# frames batched across streams (batch-timeout), each drawn with its overlay
# and its results published to an MQTT broker as JSON lines; the four
# annotated views are tiled into one AVI. The "cameras" are vtest.avi
# (opencv-doc), the only real surveillance clip at hand.
#   examples/gst/multi-camera-mqtt.sh [OUT.avi]
#   env: BROKER=host:port (default: a private mosquitto on a free local port,
#        started and stopped here), TOPIC=site/box1 (each camera publishes to
#        TOPIC/camN), FRAMES=N (default 150), MODEL=... (default the person
#        labelling network, change mode, calibrated thresholds)
set -euo pipefail
source "$(dirname "$0")/common.sh"
video=/usr/share/doc/opencv-doc/examples/data/vtest.avi
out="${1:-multi-camera.avi}"
frames="${FRAMES:-150}"
topic="${TOPIC:-site/box1}"
model="${MODEL:-$models/cbinfer_personlabel.onnx}"
thresholds="$root/tests/bench/results/cbinfer_personlabel.thresholds.json"

workdir="$(mktemp -d)"
broker_pid=""
cleanup() {
  [ -n "$broker_pid" ] && kill "$broker_pid" 2>/dev/null && wait "$broker_pid" 2>/dev/null
  rm -rf "$workdir"
}
trap cleanup EXIT

if [ -n "${BROKER:-}" ]; then
  host="${BROKER%:*}"
  port="${BROKER##*:}"
else
  host=127.0.0.1
  port="$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  printf 'listener %s 127.0.0.1\nallow_anonymous true\nuser %s\n' "$port" "$(id -un)" > "$workdir/mosquitto.conf"
  /usr/sbin/mosquitto -c "$workdir/mosquitto.conf" > "$workdir/mosquitto.log" 2>&1 &
  broker_pid=$!
  sleep 0.5
fi

# A consumer: counts the messages per camera and keeps the last one.
/usr/bin/python3 - "$host" "$port" "$topic" > "$workdir/consumer.out" <<'PY' &
import json, sys, time, paho.mqtt.client as mqtt
host, port, topic = sys.argv[1], int(sys.argv[2]), sys.argv[3]
counts, last = {}, {}
def on_message(c, u, m):
    counts[m.topic] = counts.get(m.topic, 0) + 1
    last[m.topic] = json.loads(m.payload)
c = mqtt.Client()
c.on_connect = lambda c, u, f, rc: c.subscribe(topic + "/#", qos=1)
c.on_message = on_message
c.connect(host, port)
c.loop_start()
idle = 0
while idle < 50:  # stops 5 s after the last message
    n = sum(counts.values()); time.sleep(0.1); idle = idle + 1 if sum(counts.values()) == n and n else 0
c.loop_stop()
print(json.dumps({"messages": counts, "example": last.get(topic + "/cam0")}))
PY
consumer_pid=$!
sleep 0.5

camera() {  # $1: camera number, $2: tile position
  echo "filesrc location=$video ! decodebin ! videoconvert ! videoscale ! \
    video/x-raw,format=RGB,width=384,height=288 ! identity eos-after=$frames ! \
    cbinferconv model=$model thresholds-file=$thresholds model-instance-id=box1 batch-timeout=20000000 ! \
    sparseinferpublish method=mqtt host=$host port=$port topic=$topic/cam$1 qos=1 ! \
    sparseinferoverlay change-mask=true ! videoconvert ! queue ! mix.sink_$1"
}
gst-launch-1.0 -e compositor name=mix \
    sink_0::xpos=0 sink_0::ypos=0 sink_1::xpos=384 sink_1::ypos=0 \
    sink_2::xpos=0 sink_2::ypos=288 sink_3::xpos=384 sink_3::ypos=288 ! \
  videoconvert ! avenc_mpeg4 bitrate=4000000 ! avimux ! filesink location="$out" \
  $(camera 0) $(camera 1) $(camera 2) $(camera 3)
echo "wrote $out"
wait "$consumer_pid"
echo "consumer: $(cat "$workdir/consumer.out")"
