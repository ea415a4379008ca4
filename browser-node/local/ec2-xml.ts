/** The EC2 query API's XML answers, in the shape AWS sends them (only the fields readers use). */
import { randomUUID } from "node:crypto";

const escape = (s: string) => s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

export function describeNetworkInterfacesXml(enis: { eniId: string }[]) {
  const items = enis
    .map(
      ({ eniId }) =>
        `<item><networkInterfaceId>${escape(eniId)}</networkInterfaceId><status>in-use</status>` +
        `<privateIpAddress>127.0.0.1</privateIpAddress>` +
        `<association><publicIp>127.0.0.1</publicIp><publicDnsName>localhost</publicDnsName></association></item>`,
    )
    .join("");
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<DescribeNetworkInterfacesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">` +
    `<requestId>${randomUUID()}</requestId><networkInterfaceSet>${items}</networkInterfaceSet></DescribeNetworkInterfacesResponse>`
  );
}

export function ec2ErrorXml(code: string, message: string) {
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${escape(code)}</Code>` +
    `<Message>${escape(message)}</Message></Error></Errors><RequestID>${randomUUID()}</RequestID></Response>`
  );
}
