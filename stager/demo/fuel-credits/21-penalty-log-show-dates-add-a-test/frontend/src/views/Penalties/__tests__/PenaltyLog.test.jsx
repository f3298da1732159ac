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
