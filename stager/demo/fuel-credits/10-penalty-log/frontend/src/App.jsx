import { BrowserRouter, Route, Routes } from 'react-router-dom'
import { OrganizationDetails } from './views/Organizations/OrganizationDetails'
import { PenaltyLog } from './views/Penalties/PenaltyLog'
import { TransferList } from './views/Transfers/TransferList'

export function App() {
  return (
    <BrowserRouter>
      <Routes>
        <Route path="/organizations/:id" element={<OrganizationDetails />} />
        <Route path="/organizations/:id/transfers" element={<TransferList />} />
        <Route path="/organizations/:id/penalties" element={<PenaltyLog />} />
      </Routes>
    </BrowserRouter>
  )
}
