"""The demo's React frontend: views and hooks that follow the backend's new fields."""

from __future__ import annotations

from stager.demo.edits import replace_once

SRC = "frontend/src"

PACKAGE_JSON = """\
{
  "name": "fuel-credits-frontend",
  "version": "1.4.0",
  "private": true,
  "type": "module",
  "scripts": {
    "dev": "vite",
    "build": "vite build",
    "test": "vitest run"
  },
  "dependencies": {
    "@tanstack/react-query": "^5.28.0",
    "react": "^18.2.0",
    "react-dom": "^18.2.0",
    "react-router-dom": "^6.22.0"
  },
  "devDependencies": {
    "@testing-library/react": "^14.2.0",
    "@vitejs/plugin-react": "^4.2.1",
    "jsdom": "^24.0.0",
    "vite": "^5.1.0",
    "vitest": "^1.3.0"
  }
}
"""

PACKAGE_JSON_WITH_DAYJS = replace_once(
    PACKAGE_JSON,
    '    "@tanstack/react-query": "^5.28.0",\n',
    '    "@tanstack/react-query": "^5.28.0",\n    "dayjs": "^1.11.10",\n',
)

API_JS = """\
const BASE_URL = import.meta.env.VITE_API_URL ?? '/api'

export async function apiGet(path) {
  const response = await fetch(`${BASE_URL}${path}`)
  if (!response.ok) throw new Error(`GET ${path}: ${response.status}`)
  return response.json()
}

export async function apiPatch(path, body) {
  const response = await fetch(`${BASE_URL}${path}`, {
    method: 'PATCH',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body)
  })
  if (!response.ok) throw new Error(`PATCH ${path}: ${response.status}`)
  return response.json()
}
"""

APP_JSX = """\
import { BrowserRouter, Route, Routes } from 'react-router-dom'
import { OrganizationDetails } from './views/Organizations/OrganizationDetails'
import { TransferList } from './views/Transfers/TransferList'

export function App() {
  return (
    <BrowserRouter>
      <Routes>
        <Route path="/organizations/:id" element={<OrganizationDetails />} />
        <Route path="/organizations/:id/transfers" element={<TransferList />} />
      </Routes>
    </BrowserRouter>
  )
}
"""

APP_JSX_WITH_PENALTIES = replace_once(
    replace_once(
        APP_JSX,
        "import { TransferList } from './views/Transfers/TransferList'\n",
        "import { PenaltyLog } from './views/Penalties/PenaltyLog'\n"
        "import { TransferList } from './views/Transfers/TransferList'\n",
    ),
    '        <Route path="/organizations/:id/transfers" element={<TransferList />} />\n',
    '        <Route path="/organizations/:id/transfers" element={<TransferList />} />\n'
    '        <Route path="/organizations/:id/penalties" element={<PenaltyLog />} />\n',
)

USE_ORGANIZATION = """\
import { useQuery } from '@tanstack/react-query'
import { apiGet } from '../api'

export function useOrganization(id) {
  return useQuery({
    queryKey: ['organization', id],
    queryFn: () => apiGet(`/organizations/${id}`)
  })
}
"""

USE_ORGANIZATION_WITH_OVERVIEW = replace_once(
    USE_ORGANIZATION,
    "import { useQuery } from '@tanstack/react-query'\nimport { apiGet } from '../api'\n",
    "import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query'\n"
    "import { apiGet, apiPatch } from '../api'\n",
) + (
    "\n"
    "export function useUpdateCompanyOverview(id) {\n"
    "  const queryClient = useQueryClient()\n"
    "  return useMutation({\n"
    "    mutationFn: (changes) => apiPatch(`/organizations/${id}/company-overview`, changes),\n"
    "    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['organization', id] })\n"
    "  })\n"
    "}\n"
)

ORGANIZATION_DETAILS = """\
import { useParams } from 'react-router-dom'
import { useOrganization } from '../../hooks/useOrganization'

export function OrganizationDetails() {
  const { id } = useParams()
  const { data: organization, isLoading, error } = useOrganization(id)

  if (isLoading) return <p>Loading…</p>
  if (error) return <p role="alert">Could not load the organization.</p>

  return (
    <section>
      <h1>{organization.name}</h1>
      <dl>
        <dt>Registration number</dt>
        <dd>{organization.registrationNumber}</dd>
        <dt>Address</dt>
        <dd>{organization.streetAddress}, {organization.city}</dd>
      </dl>
    </section>
  )
}
"""

ORGANIZATION_DETAILS_WITH_OVERVIEW = replace_once(
    ORGANIZATION_DETAILS,
    "      </dl>\n    </section>\n",
    "      </dl>\n"
    "      <h2>Company overview</h2>\n"
    "      <p>{organization.companyDetails ?? 'No details provided.'}</p>\n"
    "      {organization.companyActingAsAggregator && (\n"
    "        <p>Acting as aggregator: {organization.companyActingAsAggregator}</p>\n"
    "      )}\n"
    "    </section>\n",
)

TRANSFER_LIST = """\
import { useQuery } from '@tanstack/react-query'
import { useParams } from 'react-router-dom'
import { apiGet } from '../../api'

export function TransferList() {
  const { id } = useParams()
  const { data: transfers = [] } = useQuery({
    queryKey: ['transfers', id],
    queryFn: () => apiGet(`/transfers/organization/${id}`)
  })

  return (
    <table>
      <thead>
        <tr><th>Transfer</th><th>Credits</th><th>Total value</th></tr>
      </thead>
      <tbody>
        {transfers.map((t) => (
          <tr key={t.id}><td>{t.id}</td><td>{t.quantity}</td><td>${t.total_value}</td></tr>
        ))}
      </tbody>
    </table>
  )
}
"""

USE_PENALTY_LOG = """\
import { useQuery } from '@tanstack/react-query'
import { apiGet } from '../api'

export function usePenaltyLog(organizationId) {
  return useQuery({
    queryKey: ['penalties', organizationId],
    queryFn: () => apiGet(`/penalties/organization/${organizationId}`)
  })
}
"""

PENALTY_LOG = """\
import { useParams } from 'react-router-dom'
import { usePenaltyLog } from '../../hooks/usePenaltyLog'

export function PenaltyLog() {
  const { id } = useParams()
  const { data, isLoading } = usePenaltyLog(id)

  if (isLoading) return <p>Loading…</p>
  if (!data.items.length) return <p>No penalties recorded.</p>

  return (
    <section>
      <h1>Penalty log</h1>
      <ul>
        {data.items.map((p) => (
          <li key={p.id}>{p.type}: ${p.amount}</li>
        ))}
      </ul>
      <p>Total: ${data.total}</p>
    </section>
  )
}
"""

PENALTY_LOG_WITH_DATES = replace_once(
    replace_once(
        PENALTY_LOG,
        "import { useParams } from 'react-router-dom'\n",
        "import dayjs from 'dayjs'\nimport { useParams } from 'react-router-dom'\n",
    ),
    "          <li key={p.id}>{p.type}: ${p.amount}</li>\n",
    "          <li key={p.id}>\n"
    "            {dayjs(p.createDate).format('YYYY-MM-DD')} {p.type}: ${p.amount}\n"
    "          </li>\n",
)

PENALTY_LOG_TEST = """\
import { render, screen } from '@testing-library/react'
import { MemoryRouter, Route, Routes } from 'react-router-dom'
import { describe, expect, it, vi } from 'vitest'
import { PenaltyLog } from '../PenaltyLog'

vi.mock('../../../hooks/usePenaltyLog', () => ({
  usePenaltyLog: () => ({
    isLoading: false,
    data: {
      total: '1750.25',
      items: [{ id: 1, type: 'Late report', amount: '500.00', createDate: '2024-03-01' }]
    }
  })
}))

describe('PenaltyLog', () => {
  it('lists penalties with their date and the total', () => {
    render(
      <MemoryRouter initialEntries={['/organizations/7/penalties']}>
        <Routes>
          <Route path="/organizations/:id/penalties" element={<PenaltyLog />} />
        </Routes>
      </MemoryRouter>
    )
    expect(screen.getByText(/2024-03-01 Late report/)).toBeTruthy()
    expect(screen.getByText('Total: $1750.25')).toBeTruthy()
  })
})
"""

HISTORICAL_SNAPSHOT = """\
const LABELS = {
  credits_offset_a: 'Credits offset (line A)',
  credits_offset_b: 'Credits offset (line B)',
  credits_offset_c: 'Credits offset (line C)',
  total_payable: 'Total payable'
}

export function HistoricalSnapshot({ values }) {
  const entries = Object.entries(values ?? {}).filter(([key]) => key in LABELS)
  if (!entries.length) return null

  return (
    <aside aria-label="Values from the legacy system">
      <h2>As reported in the legacy system</h2>
      <dl>
        {entries.map(([key, value]) => (
          <div key={key}>
            <dt>{LABELS[key]}</dt>
            <dd>{value ?? '—'}</dd>
          </div>
        ))}
      </dl>
    </aside>
  )
}
"""
