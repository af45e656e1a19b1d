import React, { useEffect, useState } from "react";
import {
  Alert,
  Divider,
  EmptyState,
  Flex,
  Heading,
  Link,
  List,
  LoadingSpinner,
  Statistics,
  StatisticsItem,
  StatisticsTrend,
  Tag,
  Text,
  hubspot,
} from "@hubspot/ui-extensions";
import { BACKEND_URL } from "./config";

// Band → Tag variant; the label text always carries the meaning too (not colour alone).
const VARIANTS = { green: "success", yellow: "warning", red: "error" };

hubspot.extend(({ context }) => <HealthCard context={context} />);

export const HealthCard = ({ context }) => {
  const [state, setState] = useState({ loading: true });
  const companyId = String(context.crm.objectId);

  useEffect(() => {
    // hubspot.fetch signs the request (X-HubSpot-Signature-v3) and adds portalId/userId; our backend
    // verifies the signature with the app's client secret before answering.
    hubspot
      .fetch(`${BACKEND_URL}/embed/hubspot/card?companyId=${encodeURIComponent(companyId)}`, {
        method: "GET",
        timeout: 10000,
      })
      .then((resp) => (resp.ok ? resp.json() : Promise.reject(new Error(`HTTP ${resp.status}`))))
      .then((data) => setState({ loading: false, data }))
      .catch((error) => setState({ loading: false, error: error.message }));
  }, [companyId]);

  if (state.loading) {
    return <LoadingSpinner label="Loading health score" />;
  }
  if (state.error) {
    return (
      <Alert title="Health score unavailable" variant="warning">
        healthscore did not answer ({state.error}). Try again later or ask your healthscore admin.
      </Alert>
    );
  }
  const data = state.data;
  if (data.status !== "ok") {
    return (
      <EmptyState title={data.title || "Not scored yet"} layout="vertical">
        <Text>{data.message || "healthscore has no score for this company yet. Scores appear after the next sync."}</Text>
      </EmptyState>
    );
  }
  const trend = data.trend_30d || 0;
  return (
    <Flex direction="column" gap="sm">
      <Flex direction="row" gap="sm" align="center">
        <Heading>Health</Heading>
        <Tag variant={VARIANTS[data.band] || "default"}>{data.band_label}</Tag>
      </Flex>
      <Statistics>
        <StatisticsItem label="Health score" number={String(Math.round(data.score))}>
          <StatisticsTrend direction={trend >= 0 ? "increase" : "decrease"} value={`${Math.abs(trend).toFixed(1)} pts / 30 days`} />
        </StatisticsItem>
      </Statistics>
      {data.drivers && data.drivers.length > 0 && (
        <>
          <Text format={{ fontWeight: "demibold" }}>What drives it</Text>
          <List variant="unordered-styled">
            {data.drivers.map((text) => (
              <Text key={text}>{text}</Text>
            ))}
          </List>
        </>
      )}
      {data.recommended_action && <Text>Next step: {data.recommended_action}</Text>}
      <Divider />
      <Link href={data.url}>Open in healthscore</Link>
    </Flex>
  );
};
