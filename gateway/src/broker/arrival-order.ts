/**
 * What the broker does with each PUBLISH of a client, passed on in the order its PUBLISHes arrived. A PUBLISH refused at
 * once (a forbidden topic, an unknown device, a packet too large) is decided before one that waits for the telemetry
 * lane's commit; aedes writes each PUBACK when its PUBLISH is passed on, and MQTT 3.1.1 has them in the order of their
 * PUBLISHes (MQTT-4.6.0-2).
 */
export interface ArrivalOrder<Client extends object> {
  /** Takes the next place of `client`: call what it returns with what to do once decided; it runs in turn. */
  next(client: Client): (passOn: () => void) => void;
}

interface Place {
  passOn: (() => void) | null;
}

export function createArrivalOrder<Client extends object>(): ArrivalOrder<Client> {
  /** A client's places not passed on yet, oldest first; none while nothing waits (no cost for an idle connection). */
  const waiting = new WeakMap<Client, Place[]>();

  const release = (client: Client): void => {
    const places = waiting.get(client);
    if (!places) return;
    // passing one on may bring the next PUBLISH of the client, and its place, before this returns: the same list
    while (places.length > 0 && (places[0] as Place).passOn !== null) {
      const place = places.shift() as Place;
      (place.passOn as () => void)();
    }
    if (places.length === 0 && waiting.get(client) === places) waiting.delete(client);
  };

  return {
    next(client) {
      let places = waiting.get(client);
      if (!places) {
        places = [];
        waiting.set(client, places);
      }
      const place: Place = { passOn: null };
      places.push(place);
      return (passOn) => {
        place.passOn = passOn;
        release(client);
      };
    },
  };
}
